import { PageTitle, NotAvailable } from '../components/common';

export default function DataQuality() {
  return (
    <div>
      <PageTitle>DataQuality</PageTitle>
      <NotAvailable what="DataQuality" />
    </div>
  );
}
