import { PageTitle, NotAvailable } from '../components/common';

export default function PatientChart() {
  return (
    <div>
      <PageTitle>PatientChart</PageTitle>
      <NotAvailable what="PatientChart" />
    </div>
  );
}
